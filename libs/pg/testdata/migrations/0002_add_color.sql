-- second step; statements separated by semicolons
ALTER TABLE widgets ADD COLUMN color TEXT;
CREATE INDEX widgets_color_idx ON widgets (color);
