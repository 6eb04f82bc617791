class EmulatorError(RuntimeError):
    """The emulator could not be started or reached; the message names its log."""
