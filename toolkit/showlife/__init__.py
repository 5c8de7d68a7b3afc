"""A show's life around the pipeline: start a show (showinit), add an episode (scaffold),
see where everything stands (status), release in one command (golive)."""
