"""Running unattended: backups and restores, retention, the weekly report, the
system's status, and the routines that run them on a schedule."""
