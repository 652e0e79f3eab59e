"""Reading and writing geodata files: layers, tables, encodings and coordinate systems."""
