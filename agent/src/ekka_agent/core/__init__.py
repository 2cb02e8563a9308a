"""The sans-IO core: state machines that take events and a time and return actions.

Nothing here opens a socket, reads a clock or sleeps; runtime/ and sim/ drive it.
"""
