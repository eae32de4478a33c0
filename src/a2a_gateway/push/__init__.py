"""Push notifications: the keys that sign them and where those keys live."""
