#version 450
#extension GL_EXT_multiview : require
layout(location = 0) out float view;
void main() {
    view = float(gl_ViewIndex);
    gl_Position = vec4(float(gl_ViewIndex), 0.0, 0.0, 1.0);
}
