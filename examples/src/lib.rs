//! Shared helpers for the zipc example programs.
