"""What the card step derives from a built folder: statistics, escaping, the plot, Croissant and
the Data Package. `dataset_tools.card` puts them together and writes the files."""
