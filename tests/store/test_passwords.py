from jobhost.store import passwords


def test_hash_verifies_only_its_password_and_salts_differ():
    first = passwords.hash_password("correct horse")
    second = passwords.hash_password("correct horse")
    assert first != second  # per-password salt
    assert first.startswith("scrypt$17$8$1$")
    assert passwords.verify_password("correct horse", first)
    assert passwords.verify_password("correct horse", second)
    assert not passwords.verify_password("correct horsE", first)
    assert not passwords.needs_rehash(first)


def test_old_parameters_still_verify_and_ask_for_a_rehash():
    salt = b"0123456789abcdef"
    key = passwords._derive("hunter22", salt, 10, 8, 1)
    old = f"scrypt$10$8$1${passwords._b64(salt)}${passwords._b64(key)}"
    assert passwords.verify_password("hunter22", old)
    assert passwords.needs_rehash(old)


def test_malformed_or_foreign_hashes_never_verify():
    for stored in ("", "plain", "bcrypt$x$y$z$a$b", "scrypt$17$8$1$!!$!!", "scrypt$x$8$1$YQ$YQ"):
        assert not passwords.verify_password("anything", stored)
