from infra.errors import Failed


class EmulatorError(Failed):
    """The emulator could not be started or reached; the message names its log."""
