import "consentry-banner/consentry-banner.css";
import "consentry-banner";
