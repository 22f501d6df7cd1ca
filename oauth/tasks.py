"""OAuth has no background work: token exchanges happen when a call needs one."""
