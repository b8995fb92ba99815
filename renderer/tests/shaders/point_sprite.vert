#version 450
// Points at vec2 clip-space positions with a per-vertex size (the point-sprite test).
layout(location = 0) in vec2 pos;
layout(location = 1) in float size;
void main() {
    gl_Position = vec4(pos, 0.5, 1.0);
    gl_PointSize = size;
}
