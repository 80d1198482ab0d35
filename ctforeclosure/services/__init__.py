"""Services shared by the CLI and the web UI: the only code that writes users,
tokens and audit records, so both front ends apply the same rules."""
