"""The HTTP face of jobhost: `create_app(host)` builds the Litestar app."""

from jobhost.http.app import create_app

__all__ = ["create_app"]
