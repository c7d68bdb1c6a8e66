from recon_tui.cli import main

raise SystemExit(main())
