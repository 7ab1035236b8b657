from sepgan.cli import app

app()
