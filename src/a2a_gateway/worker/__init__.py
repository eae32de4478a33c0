"""The Temporal side: one workflow per A2A task, one activity per agent turn."""
