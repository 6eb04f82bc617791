"""Synthesis: the layers and the modules become one Terraform JSON document per stack.

`synthesize(envs)` builds every stack of the environments in one process (app.py,
components.py, stack.py) and returns the output with its stack graph (graph.py), read from
the CDKTF manifest (manifest.py). Importing this package is cheap: CDKTF loads only when a
synth really runs.
"""

from infra.synth.synthesis import SynthResult, synthesize

__all__ = ["SynthResult", "synthesize"]
