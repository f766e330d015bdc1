"""Importing this module records it; lazy registration must not do so."""

IMPORTED = True


class Component:
    def __init__(self, params):
        self.params = params
