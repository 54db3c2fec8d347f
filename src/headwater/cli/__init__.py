"""The `headwater` command line: loaded by the `headwater` script, never by `import headwater`."""
