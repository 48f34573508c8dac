"""The engine: one loop shared by local and distributed mode (events in, core decisions, persist, dispatch)."""
