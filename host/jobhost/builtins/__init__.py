"""The host's own features as plugins: declared under the `jobhost` entry-point group by the host's
own distribution, loaded through the same hooks as any other and always on (`jobhost plugins --all`
lists them)."""
