"""Development tools of a2a-gateway, never deployed: the local stack (``devstack``), the
``a2a-gateway`` command (``dev``, ``worker``, ``bench``) and the stream benchmark (``bench``).

This is its own distribution, ``a2a-gateway-dev`` (``tools/pyproject.toml``), so neither
the Lambda layer nor the worker image, which are built from the ``a2a-gateway`` package
alone, carries any of it.
"""
