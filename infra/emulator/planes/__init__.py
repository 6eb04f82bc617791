"""Data planes: what answers on a resource's endpoint here, beside moto's control plane.

Each plane runs in the emulator's own process (threads, loopback addresses of its own),
starts when its resource is created, and stops when it is deleted or the process ends.
They run only in the emulator the launcher starts (it names the CA that issues their
certificates); moto used in-process by the tests creates resources without them.
"""
