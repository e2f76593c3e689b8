"""Sphinx settings of the course book. Build it with `cifar-course book` (cifar_course/tools/book.py), which runs
the lessons and lays out the sources under book/_build/<profile>/source/; plain sphinx-build has nothing to read."""

from cifar_course.tools.book import pages_url
from cifar_course.tools.links import BRANCH, project_url

project = "cifar-course"
author = "the cifar-course authors"
copyright = "the cifar-course authors, MIT licence"
html_title = "cifar-course: CNNs on CIFAR-10"

extensions = ["myst_nb", "cifar_course.tools.book"]  # the second: links to repository files outside the book
root_doc = "index"
exclude_patterns = ["README.md", "_notebooks", "**/.ipynb_checkpoints"]  # README: index.md includes it

nb_execution_mode = "off"  # cifar-course book ran the lessons already (as `cifar-course run` does, cached)
nb_merge_streams = True
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN: a progress bar shows its text
myst_heading_anchors = 3  # GitHub-style anchors, as the Markdown files link them

html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_baseurl = pages_url()  # https://cifar-course.github.io/cifar-course/ (.github/workflows/book.yml publishes it)
html_copy_source = False  # the download link in each lesson's note gives the notebook as stored
html_theme_options = {
    "repository_url": project_url(),
    "repository_branch": BRANCH,
    "path_to_docs": "",  # the source folder mirrors the repository: notebooks/NN_name.ipynb
    "use_repository_button": True,
    "use_download_button": False,  # each lesson's note links the notebook; no _sources/ to download from
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
}
linkcheck_timeout = 30
