"""Authenticators: who a request comes from, from its credential (API key, JWT, IAM).

``base`` holds the contract (``Identity``, ``AuthError``, ``Authenticator``), one module
per scheme implements it, and ``chain`` combines the configured ones. No module here logs
a credential, and no ``AuthError.reason`` contains one.
"""
