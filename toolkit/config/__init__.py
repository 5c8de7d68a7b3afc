"""Reading a show folder into the model: typed TOML, feeds, episodes, presets, the catalogue.

tomlread -> show / episode (one file each into model.Show / model.Episode) -> catalog
(every feed and episode, loaded once per command; catmemo remembers unchanged folders).
presets and speechconf are settings as data, which stages may read.
"""
