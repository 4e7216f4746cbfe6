"""``voiceotp batch`` (the click command: ``command.batch``): send a file of numbers,
resumably, never calling anyone twice. The engine and the journal are the library's
(``voiceotp.client.batch``); this package is the command around them."""
