"""The feed: RSS 2.0 with Apple's and the Podcasting 2.0 tags (feedgen), and validation.

rss builds our feed; rules and itemrules check any feed; validate runs them (with builtfiles
for our own feed against what was built); foreign and fetch read feeds podkit did not write;
findings is what validation reports.
"""
