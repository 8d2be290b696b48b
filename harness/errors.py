"""Faults of the harness itself; a broken sample is data, never one of these.

    HarnessError
    ├── ConfigError            bad flags, config file or environment
    ├── InputError             an input that cannot be opened or has no known format
    └── SandboxUnavailable     the sandbox cannot serve at all
        ├── DockerUnreachable  no engine answers
        ├── ImageMissing       the sandbox image was never built
        └── ImageBuildError    building the image failed

Each carries a message that says what to do.
"""


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


class ConfigError(HarnessError):
    pass


class InputError(HarnessError):
    pass


class SandboxUnavailable(HarnessError):
    pass


class DockerUnreachable(SandboxUnavailable):
    pass


class ImageMissing(SandboxUnavailable):
    pass


class ImageBuildError(SandboxUnavailable):
    pass
