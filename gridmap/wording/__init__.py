"""Response templates (惯用语): the office's common notes per workflow action."""
