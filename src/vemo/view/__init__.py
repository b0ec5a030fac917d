"""Looking at predictions: `vemo view` (a local page that plays each input with its faces and
timeline) and `vemo report` (one self-contained HTML file of a predictions folder)."""
