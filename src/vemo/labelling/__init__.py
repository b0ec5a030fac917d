"""Labelling by hand: the browser page (`vemo label serve`) and the folder export."""
