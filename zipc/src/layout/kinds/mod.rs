//! Each kind's format: its header fields, its parameters and their rules, its region.
