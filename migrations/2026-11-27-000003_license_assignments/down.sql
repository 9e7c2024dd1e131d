DROP TRIGGER license_assignments_count ON license_assignments;
DROP FUNCTION count_license_assignments();
DROP TABLE license_assignments;
