"""Package metadata comes from settings.ini (nbdev 2.x); dependencies are pinned in requirements.txt."""
from configparser import ConfigParser
from setuptools import find_packages, setup

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']
scripts = [s.strip() for s in cfg.get('console_scripts', '').split() if s.strip()]

setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    author=cfg['author'], license='Apache-2.0', python_requires=f">={cfg['min_python']}",
    packages=find_packages(include=['dsts', 'dsts.*']), include_package_data=True,
    install_requires=[],
    entry_points={'console_scripts': scripts, 'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"],
                  'papermill.engine': ['dsts = dsts.nbrun:IPCEngine']},   # `papermill --engine dsts`: nbs/00b_nbrun.ipynb
    zip_safe=False,
)
