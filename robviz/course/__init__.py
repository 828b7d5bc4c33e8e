"""The course wing: lessons as an nbgrader course, student and lab versions, the static gallery.

* :mod:`robviz.course.assignments`: nbgrader source notebooks, student versions through nbgrader's
  own preprocessors, the lab version with folded solutions, :func:`init_course` (re-exported here);
* :mod:`robviz.course.gallery`: every lesson executed and exported as a static web page;
  ``execute_lesson``, the notebook runner of the gallery and the full-mode test;
* :mod:`robviz.course.feedback`: nbgrader's feedback pages with the course's own MathJax 3 inlined
  (no CDN), set by the course's ``nbgrader_config.py``;
* :mod:`robviz.course.kernels`: the Jupyter kernel client that waits in one-second polls (used by
  the gallery's runner and by the course's ``nbgrader_config.py``).

The self-checks the lessons call live in :mod:`robviz.exercises`.
"""

from .assignments import (
    CODE_STUB,
    SOLUTION_SUMMARY,
    course_exercises,
    init_course,
    is_graded,
    is_solution,
    lab_notebook,
    student_notebook,
    student_view,
    write_lab_versions,
    write_student_versions,
)

__all__ = [
    "CODE_STUB",
    "SOLUTION_SUMMARY",
    "is_solution",
    "is_graded",
    "course_exercises",
    "student_notebook",
    "student_view",
    "write_student_versions",
    "lab_notebook",
    "write_lab_versions",
    "init_course",
]
