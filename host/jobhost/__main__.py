from jobhost.cli import main

main()
