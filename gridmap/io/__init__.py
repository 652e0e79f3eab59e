"""Reading and writing geodata files: layers, tables, encodings and coordinate systems."""

from gridmap.io.offline import no_network

# GDAL never touches the network while reading a user's file: in every process that reads.
no_network()
