"""The audio stage: an episode's parts become measured, normalized, encoded masters.

sources (read) -> assemble (pydub; processing, speech, speechlevel) -> loudness and truepeak
(BS.1770) -> calibrate -> normalize -> encode (ffmpeg) -> master (the stage's entry, cached)
-> qc. passthrough takes an MP3 that is already the finished master.
"""
