"""`python -I -m harness_sandbox`: the fork server (the container's PID 1)."""

from harness_sandbox.server import main

main()
