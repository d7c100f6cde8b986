"""The host's SQL store: the database and its sessions (`database`), users and tokens
(`accounts`, `user`), schema migrations (`migrate`). Import from the modules: this package stays
light so `import jobhost` does not load SQLAlchemy."""
