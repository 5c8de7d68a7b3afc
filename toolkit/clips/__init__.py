"""Video clips of soundbites: word-timed captions (captions) and the render (render)."""
