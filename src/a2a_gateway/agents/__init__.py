"""Agents are plug-ins: any object with an async-generator ``run(context)`` (see ``base``)."""
