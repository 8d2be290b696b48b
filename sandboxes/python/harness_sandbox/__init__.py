"""What runs inside the sandbox container: the fork server and its in-sandbox handlers.

Imported by the host too, for `protocol` alone (stdlib only); every other module here
needs the image's pytest (and mypy, hypothesis for the handlers) and runs as root in the
container. Nothing is imported here: `import harness_sandbox.protocol` costs one module.
"""
