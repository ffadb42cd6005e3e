"""The options half of the batch dialog: recipe, placement, output, naming, format,
policy and jobs (``BatchFormMixin``, mixed into ``batch_dialog.BatchDialog``), and the input
pickers. Widgets only; the dialog turns them into a ``BatchJob``."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from limelight.core.batch import BatchError, available_cores, default_jobs

#: label -> (format name, bit depths offered, has quality)
FORMATS: dict[str, tuple[str, tuple[int, ...], bool]] = {
    "JPEG": ("jpeg", (8,), True), "PNG": ("png", (8, 16), False),
    "TIFF": ("tiff", (8, 16), False), "WebP": ("webp", (8,), True),
}
ON_EXISTS = {"Rename the new file (name_1, name_2…)": "rename",
             "Skip the photo (resume a batch)": "skip",
             "Overwrite the output (never an original)": "overwrite"}


class BatchFormMixin:
    """Builds the option widgets on the dialog (``self``) and keeps them consistent."""

    host: Any
    add_paths: Any

    def _build_form(self) -> QFormLayout:
        form = QFormLayout()
        self.recipe_source = QComboBox()
        self.recipe_source.addItem("The current edit", "current")
        self.recipe_source.addItem("A recipe file", "file")
        self.recipe_path = QLineEdit()
        self.recipe_path.setPlaceholderText("recipe.json")
        browse_recipe = QPushButton("Browse…")
        browse_recipe.clicked.connect(self._on_browse_recipe)
        has_doc = getattr(self.host, "doc", None) is not None
        if not has_doc:
            self.recipe_source.setCurrentIndex(1)
            self.recipe_source.model().item(0).setEnabled(False)  # type: ignore[attr-defined]
        form.addRow("Recipe", self._hbox(self.recipe_source, self.recipe_path, browse_recipe))
        self.placement = QComboBox()
        self.placement.addItem("As painted (same place in every photo)", "painted")
        self.placement.addItem("The subject of each photo", "subject")
        self.placement_hint = QLabel("")
        self.placement_hint.setWordWrap(True)
        self._check_subject_model()
        form.addRow("Light placement", self._hbox(self.placement, self.placement_hint))
        self.out_dir = QLineEdit()
        browse_out = QPushButton("Browse…")
        browse_out.clicked.connect(self._on_browse_out)
        form.addRow("Output folder", self._hbox(self.out_dir, browse_out))
        self.name = QLineEdit("{name}_lit")
        self.name.setToolTip("Fields: {name} (= {stem}), {ext}, {index}")
        self.name_error = QLabel("")
        self.name_error.setStyleSheet("color: #c0392b")
        self.name.textChanged.connect(self._on_name_changed)
        form.addRow("File names", self._hbox(self.name, self.name_error))
        self.format = QComboBox()
        self.format.addItems(list(FORMATS))
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(95)
        self.bit_depth = QComboBox()
        self.format.currentTextChanged.connect(self._on_format_changed)
        self._on_format_changed(self.format.currentText())
        form.addRow("Format", self._hbox(self.format, QLabel("Quality"), self.quality,
                                         QLabel("Bit depth"), self.bit_depth))
        self.on_exists = QComboBox()
        for label, value in ON_EXISTS.items():
            self.on_exists.addItem(label, value)
        form.addRow("If an output exists", self.on_exists)
        self.jobs = QSpinBox()
        cores = available_cores()
        self.jobs.setRange(1, max(1, cores))
        self.jobs.setValue(default_jobs())
        self.jobs.setToolTip("Photos processed at the same time; the cores are shared "
                             "between them")
        form.addRow("Parallel photos", self.jobs)
        self.run_on = QComboBox()
        self.run_on.addItem("This computer", "here")
        self.run_on.addItem("The cluster at", "cluster")
        self.cluster = QLineEdit()
        self.cluster.setPlaceholderText("tcp://scheduler:8786, or local:4")
        self.cluster.setToolTip("A Dask scheduler (dask scheduler; dask worker ADDRESS on each "
                                "machine), or local:N worker processes here. The output "
                                "folder must be one every worker reaches.")
        self.run_on.currentIndexChanged.connect(self._on_run_on_changed)
        self._on_run_on_changed()
        form.addRow("Run on", self._hbox(self.run_on, self.cluster))
        return form

    def cluster_address(self) -> str | None:
        """The cluster chosen (None: this computer); BatchError when its address is empty."""
        if self.run_on.currentData() != "cluster":
            return None
        text = self.cluster.text().strip()
        if not text:
            raise BatchError("give the cluster's scheduler address (tcp://HOST:8786) or "
                             "local:N, or run on this computer")
        return text

    def _on_run_on_changed(self, *_args: object) -> None:
        on_cluster = self.run_on.currentData() == "cluster"
        self.cluster.setEnabled(on_cluster)
        self.jobs.setEnabled(not on_cluster)  # a worker runs as many photos as its threads

    @staticmethod
    def _hbox(*widgets: QWidget) -> QWidget:
        box = QWidget()
        lay = QHBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        for w in widgets:
            lay.addWidget(w)
        return box

    def _check_subject_model(self) -> None:
        from limelight.core import subject

        if subject.is_installed():
            return
        self.placement.model().item(1).setEnabled(False)  # type: ignore[attr-defined]
        self.placement_hint.setText(f"Subject needs its model: {subject.install_hint()}")

    def _widget(self) -> QWidget:
        return cast(QWidget, self)  # the dialog this is mixed into

    def _on_add_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(
            self._widget(), "Add photos", "", "Photos (*.jpg *.jpeg *.png *.tif *.tiff *.webp *.bmp "
            "*.dng *.cr2 *.cr3 *.nef *.arw *.raf *.orf *.rw2 *.pef *.srw);;All files (*)")
        self.add_paths(names)

    def _on_add_folder(self) -> None:
        name = QFileDialog.getExistingDirectory(self._widget(), "Add a folder of photos")
        if name:
            self.add_paths([name])

    def _on_browse_recipe(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self._widget(), "Recipe", "",
                                              "Recipes (*.json)")
        if name:
            self.recipe_path.setText(name)
            self.recipe_source.setCurrentIndex(1)

    def _on_browse_out(self) -> None:
        name = QFileDialog.getExistingDirectory(self._widget(), "Output folder",
                                                self.out_dir.text())
        if name:
            self.out_dir.setText(name)

    def _on_name_changed(self, text: str) -> None:
        from limelight.core.batch_plan import check_template

        try:
            check_template(text)
        except BatchError as err:
            self.name_error.setText(err.problem)
        else:
            self.name_error.setText("")

    def _on_format_changed(self, label: str) -> None:
        _fmt, depths, has_quality = FORMATS[label]
        self.quality.setEnabled(has_quality)
        self.bit_depth.clear()
        if len(depths) > 1:
            self.bit_depth.addItem("As the photo (16 from 16-bit and RAW)", None)
        for d in depths:
            self.bit_depth.addItem(f"{d} bit", d)
