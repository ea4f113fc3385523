//! The project's own sample course (`course-sample/`), built into the binary so
//! `trainer local` can seed a fresh data dir without the repo at hand.

use ework_domain::course::CourseFiles;

macro_rules! course_file {
    ($path:literal) => {
        (
            $path,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../course-sample/",
                $path
            ))
            .as_slice(),
        )
    };
}

/// Every file of `course-sample/`; `sample_course_matches_the_folder` keeps this list
/// in step with the folder.
const FILES: &[(&str, &[u8])] = &[
    course_file!("studentsList.json"),
    course_file!("subjects/operating-systems/test01/test.json"),
    course_file!("subjects/operating-systems/test01/questions.json"),
    course_file!("subjects/operating-systems/test01/questionsKey.json"),
    course_file!("subjects/operating-systems/test02/test.json"),
    course_file!("subjects/operating-systems/test02/questions.json"),
    course_file!("subjects/operating-systems/test02/questionsKey.json"),
    course_file!("subjects/networks/test01/test.json"),
    course_file!("subjects/networks/test01/questions.json"),
    course_file!("subjects/networks/test01/questionsKey.json"),
];

/// The sample course as the trainer's folder reader would see it.
pub fn sample_course() -> CourseFiles {
    let mut files = CourseFiles::new();
    for (path, bytes) in FILES {
        files.insert(*path, *bytes);
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_course_matches_the_folder() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../course-sample");
        let on_disk = crate::validate::read_course_dir(&dir).unwrap();
        assert_eq!(sample_course(), on_disk);
    }

    #[test]
    fn sample_course_is_valid() {
        let course =
            ework_domain::course::parse(&sample_course(), chrono_tz::Europe::Warsaw).unwrap();
        assert_eq!(course.roster.0.len(), 4);
        assert_eq!(course.tests.len(), 3);
        let os = course
            .tests
            .iter()
            .find(|t| t.name() == "operating-systems/test01")
            .unwrap();
        assert!(os.publish && os.questions.len() >= 4);
        let draft = course
            .tests
            .iter()
            .find(|t| t.name() == "operating-systems/test02")
            .unwrap();
        assert!(!draft.publish);
    }
}
