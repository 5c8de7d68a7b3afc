"""What outside standards and services say, shared by loading and validation so they agree.

Apple's categories and artwork rules, BCP 47 and dates, MIME types and XML namespaces, WAV
headers, analytics URL prefixes. Nothing here imports another part of podkit but the model.
"""
