from voiceotp.cli import main

main()
