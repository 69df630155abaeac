from neuralab.cli import main

main()
