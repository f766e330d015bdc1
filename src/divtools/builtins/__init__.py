"""Built-in plugins. Each module is a plugin exactly like a third-party one: it implements
divtools hooks and registers params models with lazy ``"module:attr"`` implementations, so
loading the registries imports no torch."""
